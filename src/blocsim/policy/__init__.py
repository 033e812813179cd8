"""blocsim.policy"""
