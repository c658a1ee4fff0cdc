"""The annotation page: the shell is HTML, the work happens through the JSON API."""
