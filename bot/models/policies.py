"""Regulations and their numbered clauses, the source of every policy answer."""

from __future__ import annotations

import enum

from sqlalchemy import (
    Column,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from bot.models.base import Base, utcnow


class Audience(str, enum.Enum):
    """Who may be answered from a regulation."""

    PUBLIC = "public"
    STAFF = "staff"


class PolicyDocument(Base):
    """One regulation (a 服务管理制度 or a sub-regulation inside one)."""

    __tablename__ = "policy_document"

    id = Column(Integer, primary_key=True)
    code = Column(String(16), nullable=False, unique=True)
    source = Column(String(64), nullable=False)
    title = Column(String(128), nullable=False)
    audience = Column(
        Enum(Audience, name="audience", values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    )
    department = Column(String(32), nullable=False)
    ordinal = Column(Integer, nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)

    clauses = relationship(
        "PolicyClause",
        back_populates="document",
        order_by="PolicyClause.ordinal",
        cascade="all, delete-orphan",
    )

    def __repr__(self) -> str:
        return f"<PolicyDocument {self.code} {self.title} ({self.audience.value})>"


class PolicyClause(Base):
    """One numbered clause of a regulation, the unit that policy answers quote."""

    __tablename__ = "policy_clause"
    __table_args__ = (UniqueConstraint("document_id", "ordinal"),)

    id = Column(Integer, primary_key=True)
    document_id = Column(
        Integer, ForeignKey("policy_document.id", ondelete="CASCADE"), nullable=False, index=True
    )
    ordinal = Column(Integer, nullable=False)
    number = Column(String(32), nullable=False)
    label = Column(String(64), nullable=False)
    heading = Column(String(128), nullable=False, default="")
    text = Column(Text, nullable=False)
    # The clause's sentence embedding (bot.policies.semantic) and the model that made it;
    # empty when the model was not installed when the regulations were stored.
    embedding = Column(LargeBinary, nullable=True)
    embedding_model = Column(String(64), nullable=True)
    # What people ask that this clause answers, one question a line
    # (data/policies/clause_questions.yml), and their embeddings by the same model, one
    # after the other in that order.
    questions = Column(Text, nullable=False, default="", server_default="")
    question_embeddings = Column(LargeBinary, nullable=True)

    document = relationship("PolicyDocument", back_populates="clauses")

    @property
    def citation(self) -> str:
        """E.g. 《饮用水消毒制度》(服务管理制度3) 第二条第2款."""
        return f"《{self.document.title}》({self.document.source}) {self.label}"

    def __repr__(self) -> str:
        return f"<PolicyClause {self.document_id}:{self.label}>"
