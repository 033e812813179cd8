"""blocsim.scenario"""
