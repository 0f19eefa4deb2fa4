"""GlobalPic auth service: accounts, teams, invitations, sessions and API keys.

``service.AuthService`` is the domain over a SQLAlchemy engine (testable without gRPC);
``server`` exposes it as ``globalpic.auth.v1.AuthService``.
"""
