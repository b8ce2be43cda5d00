"""The idle autostop agent that runs on the box (agent.py) and the configuration it reads."""
