"""The one sticky pull-request comment: its body format (`format`) and its sync (`sync`)."""
