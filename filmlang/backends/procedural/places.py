PAINTERS: dict = {}
