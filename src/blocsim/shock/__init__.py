"""blocsim.shock"""
