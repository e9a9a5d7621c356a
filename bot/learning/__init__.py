"""The learning loop: what people asked (`questions`), and answers the desk teaches Puente (`faq`).

Nothing here changes an answer on its own: a counselor's answer becomes an FAQ candidate, a desk
admin approves it, and only then is it written under `knowledge/learned/` and indexed.
"""
