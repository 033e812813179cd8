"""blocsim.web"""
