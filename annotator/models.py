"""The data model: users, projects, documents, claims and their evidence, history."""

from __future__ import annotations

import enum
import hashlib
import hmac
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .db import db


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """The moment as an aware datetime: SQLite hands back naive ones, which are UTC here."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


@lru_cache(maxsize=4096)  # an export formats the same import timestamp for every claim
def isoformat(moment: datetime) -> str:
    """RFC 3339 in UTC."""
    return as_utc(moment).astimezone(UTC).isoformat().replace("+00:00", "Z")


class Role(enum.StrEnum):
    MANAGER = "manager"
    ANNOTATOR = "annotator"
    ADJUDICATOR = "adjudicator"


class AssignmentStatus(enum.StrEnum):
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    SKIPPED = "skipped"


Timestamp = DateTime(timezone=True)


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and the remember cookie: the id and a mark
        of the password, so a password change ends every other session and remember cookie
        (as Django's session auth hash does). Checked by auth's user loader."""
        return f"{self.id}:{self.password_mark()}"

    def password_mark(self) -> str:
        # Keyed: the session cookie is readable, and must not carry a plain function of
        # the hash.
        key = current_app.secret_key
        key = key.encode() if isinstance(key, str) else key or b""
        return hmac.new(key, self.password_hash.encode(), hashlib.sha256).hexdigest()[:20]


class LoginThrottle(db.Model):
    """Failed logins for one name from one address (services/users.authenticate). Kept by
    the name typed, known or not, so that a lock tells nothing about which names exist, and
    per address, so that nobody can lock another person out from elsewhere."""

    __table_args__ = (UniqueConstraint("username", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(Timestamp)
    last_failed_at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class ApiToken(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    # Only a hash is stored: a leaked database does not leak usable tokens.
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(Timestamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)

    user: Mapped[User] = relationship()


class Project(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    guidelines: Mapped[str] = mapped_column(Text, default="")
    label_scheme: Mapped[dict[str, Any]] = mapped_column(JSON)
    scheme_version: Mapped[int] = mapped_column(Integer, default=1)
    annotators_per_document: Mapped[int] = mapped_column(Integer, default=1)
    blind: Mapped[bool] = mapped_column(Boolean, default=True)
    # Suggested claims on the annotation page: off until a manager turns them on.
    suggestions_enabled: Mapped[bool] = mapped_column(Boolean, default=False,
                                                      server_default="0")
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )


class Membership(db.Model):
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20), default=Role.ANNOTATOR.value)

    project: Mapped[Project] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship()


class Document(db.Model):
    __table_args__ = (
        UniqueConstraint("project_id", "external_id"),
        Index("ix_document_project_position", "project_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500), default="")
    # Immutable after import: every stored offset points into this exact string.
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    source_url: Mapped[str | None] = mapped_column(String(2000))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    project: Mapped[Project] = relationship()


class Assignment(db.Model):
    __table_args__ = (UniqueConstraint("document_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=AssignmentStatus.TODO.value)
    assigned_at: Mapped[datetime | None] = mapped_column(Timestamp, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(Timestamp)
    done_at: Mapped[datetime | None] = mapped_column(Timestamp)
    skip_reason: Mapped[str | None] = mapped_column(Text)

    document: Mapped[Document] = relationship()
    user: Mapped[User] = relationship()


class Actor(db.Model):
    """A claimant: an entity of the project, not a free string on each claim."""

    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


_LIVE_AND_KEYED = "deleted_at IS NULL AND suggestion_key IS NOT NULL"


class Claim(db.Model):
    __table_args__ = (
        CheckConstraint('start >= 0', name="start_not_negative"),
        CheckConstraint('"end" > start', name="end_after_start"),
        Index("ix_claim_document_annotator", "document_id", "annotator_id"),
        # A create replayed after a lost response finds the claim it already made.
        UniqueConstraint("annotator_id", "client_id", name="uq_claim_annotator_id_client_id"),
        # One suggestion makes at most one live claim of each annotator, even when two
        # accepts (the list and a tab's form) race past the check in the service. Manual
        # claims (no key) stay out of it: creating one writes no page of this index.
        Index("uq_claim_live_suggestion", "document_id", "annotator_id", "suggestion_key",
              unique=True, sqlite_where=text(_LIVE_AND_KEYED),
              postgresql_where=text(_LIVE_AND_KEYED)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    annotator_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("actor.id"))
    actor_start: Mapped[int | None] = mapped_column(Integer)
    actor_end: Mapped[int | None] = mapped_column(Integer)
    stance: Mapped[str] = mapped_column(String(80))
    verdict: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(Text, default="")
    scheme_version: Mapped[int] = mapped_column(Integer, default=1)
    is_gold: Mapped[bool] = mapped_column(Boolean, default=False)
    # Gold claims: the annotators' claims this one was decided from (provenance).
    source_claim_ids: Mapped[list[int] | None] = mapped_column(JSON)
    # Annotators' claims an adjudicator decided to leave out of the gold set.
    rejected: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # "manual" (drawn by hand) or "suggestion" (accepted from the suggester); `suggestion`
    # then keeps what was proposed (source, model version, span, actor, stance).
    origin: Mapped[str] = mapped_column(String(20), default="manual", server_default="manual")
    suggestion: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The accepted suggestion's id ("start-end" of the proposed span), or None: the key of
    # uq_claim_live_suggestion (None for manual claims, which the index then never compares).
    suggestion_key: Mapped[str | None] = mapped_column(String(24))
    # The idempotency key the browser generated for the create (a UUID), or None.
    client_id: Mapped[str | None] = mapped_column(String(64))

    document: Mapped[Document] = relationship()
    annotator: Mapped[User] = relationship()
    actor: Mapped[Actor | None] = relationship()
    # Every evidence row ever attached (deleted ones too: deletes are soft)...
    all_evidence: Mapped[list[Evidence]] = relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="Evidence.position"
    )
    # ...and the live ones, which is what everything but the history reads.
    evidence: Mapped[list[Evidence]] = relationship(
        primaryjoin="and_(Evidence.claim_id == Claim.id, Evidence.deleted_at.is_(None))",
        order_by="Evidence.position",
        viewonly=True,
    )

    # Optimistic locking: UPDATE ... WHERE version = :seen, so two racing saves
    # cannot both win even between the check and the write.
    __mapper_args__ = {"version_id_col": version}


class Evidence(db.Model):
    __table_args__ = (
        CheckConstraint('start IS NULL OR start >= 0', name="start_not_negative"),
        CheckConstraint('start IS NULL OR "end" > start', name="end_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(
        ForeignKey("claim.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    type: Mapped[str] = mapped_column(String(80))
    relation: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    start: Mapped[int | None] = mapped_column(Integer)
    end: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    source_url: Mapped[str | None] = mapped_column(String(2000))
    deleted_at: Mapped[datetime | None] = mapped_column(Timestamp)

    claim: Mapped[Claim] = relationship(back_populates="all_evidence")


class AuditEvent(db.Model):
    """One change to an annotation: who, when, what, and the record before and after."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column(Integer)
    # The claim an event belongs to (the claim itself, or one of its evidence items).
    claim_id: Mapped[int | None] = mapped_column(Integer, index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)


class ReviewStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class Review(db.Model):
    """A document's adjudication: open while gold is being decided, done when settled."""

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("document.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(20), default=ReviewStatus.OPEN.value)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)

    document: Mapped[Document] = relationship()
    decided_by: Mapped[User | None] = relationship()


class Incident(db.Model):
    """An event several articles report on (what, where, when): it groups propositions."""

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    location: Mapped[str] = mapped_column(String(300), default="")
    # ISO dates (YYYY-MM-DD) as text: a day, or a range when the end is set.
    date_start: Mapped[str | None] = mapped_column(String(10))
    date_end: Mapped[str | None] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Proposition(db.Model):
    """What several claims state, across articles; the verdict here is the proposition's own."""

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident.id", ondelete="SET NULL"), index=True
    )
    verdict: Mapped[str | None] = mapped_column(String(80))
    verdict_note: Mapped[str] = mapped_column(Text, default="")
    verdict_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)

    incident: Mapped[Incident | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    verdict_by: Mapped[User | None] = relationship(foreign_keys=[verdict_by_id])


class ClaimLink(db.Model):
    """A claim stating a proposition. Its own row, not a claim column: linking must not bump
    the claim's version (and so collide with the annotator's open edit). One per claim."""

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(
        ForeignKey("claim.id", ondelete="CASCADE"), unique=True
    )
    proposition_id: Mapped[int] = mapped_column(
        ForeignKey("proposition.id", ondelete="CASCADE"), index=True
    )
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    claim: Mapped[Claim] = relationship()
    proposition: Mapped[Proposition] = relationship()


class SuggestionModel(db.Model):
    """One trained version of a project's suggestion model, with its held-out scores."""

    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    trained_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"))
    # Held-out precision/recall/F1 per task, and the train/test sizes.
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The documents it learnt from: it never suggests on them (see services/suggestions.py).
    document_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # The fitted estimators, pickled by joblib; kept in the database so every server has it.
    blob: Mapped[bytes] = mapped_column(LargeBinary)

    trained_by: Mapped[User | None] = relationship()


class TrainingJob(db.Model):
    """A request to train a new suggestion model version, run by a separate process
    (services/training.py): training takes from seconds to minutes, longer than a web
    request may block a worker."""

    # One live (queued or running) job per project, kept by the database: two managers
    # starting a training at the same moment get one job and a 409, not two trainings.
    __table_args__ = (
        Index("uq_training_job_live_project", "project_id", unique=True,
              sqlite_where=text("status IN ('queued', 'running')"),
              postgresql_where=text("status IN ('queued', 'running')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"))
    # queued → running → done | failed (see services/training.py)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    # The training process and its host: a live job whose process is gone is failed.
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255), default="")
    model_id: Mapped[int | None] = mapped_column(
        ForeignKey("suggestion_model.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(Timestamp)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)

    requested_by: Mapped[User | None] = relationship()


class SuggestionRejection(db.Model):
    """A suggested span a user rejected on a document: it is not proposed to them again."""

    __table_args__ = (UniqueConstraint("user_id", "document_id", "start", "end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    document_id: Mapped[int] = mapped_column(
        ForeignKey("document.id", ondelete="CASCADE"), index=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
