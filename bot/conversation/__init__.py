"""Conversations: follow-ups read in the context of the chat's last turns (`service.py`), the
carry-over without an LLM (`followup.py`), and where the turns are kept (`state.py`)."""

from bot.conversation.service import Conversations
from bot.conversation.state import MemoryConversationStore, SqlConversationStore

__all__ = ["Conversations", "MemoryConversationStore", "SqlConversationStore"]
