"""GlobalPic copywriting: English marketing copy per marketplace, 5 A/B variants per image.

``Copywriter.write(facts, platform, n)`` is the domain interface; ``OfflineCopywriter``
(templates and phrase banks, no network), ``OpenAICopywriter`` (any OpenAI-compatible chat
endpoint) and the gRPC ``CopywritingClient`` implement it. Every variant is checked against
the platform's rules (``rules``) and the quality gate (``quality``) before it is returned.
"""
