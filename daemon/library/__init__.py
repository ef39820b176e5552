"""The library on disk: which files are episodes (`filter`), watching for changes (`watch`), waiting until a new
file holds still (`settle`), and comparing the disk with the database (`reconcile`)."""
