"""Keep the regulations in the database in step with the parsed corpus."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from bot.models import Audience, PolicyClause, PolicyDocument
from bot.policies.corpus import ParsedDocument
from bot.policies.search import clause_keywords
from bot.policies.semantic import EmbeddingCache, SentenceModel, passage_text, to_bytes


@dataclass(frozen=True)
class SyncReport:
    created: int
    updated: int
    unchanged: int
    removed: int
    clauses: int
    # Clauses given a (new) sentence embedding; 0 when the model is not installed.
    embedded: int = 0


def _clause_rows(document: ParsedDocument) -> list[tuple[int, str, str, str, str, str]]:
    return [
        (
            ordinal,
            clause.number,
            clause.label,
            clause.heading,
            clause.text,
            "\n".join(clause.questions),
        )
        for ordinal, clause in enumerate(document.clauses, start=1)
    ]


def sync_corpus(
    *,
    session: Session,
    documents: list[ParsedDocument],
    model: SentenceModel | None = None,
    cache: EmbeddingCache | None = None,
) -> SyncReport:
    """Make the stored regulations equal to `documents`, every clause embedded by `model`
    when there is one; running it twice changes nothing."""
    existing = {
        doc.code: doc
        for doc in session.scalars(
            select(PolicyDocument).options(selectinload(PolicyDocument.clauses))
        )
    }
    created = updated = unchanged = 0
    for parsed in documents:
        rows = _clause_rows(parsed)
        fields = {
            "source": parsed.source,
            "title": parsed.title,
            "audience": Audience(parsed.audience),
            "department": parsed.department,
            "ordinal": parsed.ordinal,
        }
        stored = existing.pop(parsed.code, None)
        if stored is None:
            stored = PolicyDocument(code=parsed.code, **fields)
            session.add(stored)
            created += 1
        else:
            stored_rows = [
                (c.ordinal, c.number, c.label, c.heading, c.text, c.questions)
                for c in stored.clauses
            ]
            same_fields = all(getattr(stored, key) == value for key, value in fields.items())
            if same_fields and stored_rows == rows:
                unchanged += 1
                continue
            for key, value in fields.items():
                setattr(stored, key, value)
            stored.clauses.clear()
            # Old clauses go before new ones take their (document, ordinal) keys.
            session.flush()
            updated += 1
        stored.clauses.extend(
            PolicyClause(
                ordinal=ordinal,
                number=number,
                label=label,
                heading=heading,
                text=text,
                questions=questions,
            )
            for ordinal, number, label, heading, text, questions in rows
        )
    removed = len(existing)
    if existing:
        session.execute(delete(PolicyDocument).where(PolicyDocument.code.in_(list(existing))))
    session.flush()
    embedded = embed_clauses(session=session, model=model, cache=cache) if model else 0
    return SyncReport(
        created=created,
        updated=updated,
        unchanged=unchanged,
        removed=removed,
        clauses=sum(len(doc.clauses) for doc in documents),
        embedded=embedded,
    )


def embed_clauses(
    *, session: Session, model: SentenceModel, cache: EmbeddingCache | None = None
) -> int:
    """Store `model`'s embedding with every clause that has none of its own (new, changed,
    or embedded by another model), and of each of its anticipated questions (embedded as
    questions are: a question is compared with them as with its peers); the number of
    clauses embedded."""
    stale = session.scalars(
        select(PolicyClause)
        .options(selectinload(PolicyClause.document))
        .where(
            (PolicyClause.embedding_model.is_(None)) | (PolicyClause.embedding_model != model.name)
        )
        .order_by(PolicyClause.id)
    ).all()
    if not stale:
        return 0
    everyday = clause_keywords()
    passages = [
        passage_text(
            c.document.title, c.heading, c.text, everyday.get(f"{c.document.code}:{c.label}", "")
        )
        for c in stale
    ]
    cache = cache or EmbeddingCache()
    vectors = cache.embed(model, passages)
    questions = [question for c in stale for question in clause_questions_of(c)]
    question_vectors = iter(cache.embed(model, questions, as_queries=True))
    for clause, vector in zip(stale, vectors, strict=True):
        clause.embedding = to_bytes(vector)
        clause.embedding_model = model.name
        clause.question_embeddings = b"".join(
            to_bytes(next(question_vectors)) for _ in clause_questions_of(clause)
        )
    session.flush()
    return len(stale)


def clause_questions_of(clause: PolicyClause) -> list[str]:
    """The clause's anticipated questions, in stored order."""
    return [line for line in (clause.questions or "").split("\n") if line]


def list_documents(
    *, session: Session, audiences: tuple[Audience, ...] = tuple(Audience)
) -> list[PolicyDocument]:
    """The stored regulations in source order, limited to `audiences`."""
    return list(
        session.scalars(
            select(PolicyDocument)
            .where(PolicyDocument.audience.in_(audiences))
            .order_by(PolicyDocument.ordinal)
        )
    )


def find_document(*, session: Session, key: str) -> PolicyDocument | None:
    """A regulation by code ("7.1"), title (抄表管理制度, with or without 《》) or source."""
    key = key.strip().strip("《》")
    if not key:
        return None
    query = select(PolicyDocument).options(selectinload(PolicyDocument.clauses))
    for column in (PolicyDocument.code, PolicyDocument.title):
        found = session.scalars(query.where(column == key)).first()
        if found:
            return found
    return session.scalars(
        query.where(PolicyDocument.source == key).order_by(PolicyDocument.ordinal)
    ).first()
