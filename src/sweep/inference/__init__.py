"""The statistical tests shared by the race's verdict at run time and compare's report: Welch + Holm, TOST."""
