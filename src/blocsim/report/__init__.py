"""blocsim.report"""
