"""Code common to spreadlake's services: the domain model, settings and the wire protocol.

Nothing here imports another spreadlake package.
"""
