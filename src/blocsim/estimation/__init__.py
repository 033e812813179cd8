"""blocsim.estimation"""
