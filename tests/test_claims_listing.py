"""The annotation page's claim list (GET /documents/{id}/claims) is read with plain rows for
speed: it must answer exactly what the ORM path (claims.list_claims) gives, for every role."""

from __future__ import annotations

from annotator.services import claims, projects, users
from tests.conftest import HELICOPTER, NO_AIRCRAFT, SAMPLE_TEXT, annotate_sample, span


def test_listed_claims_equal_the_orm_listing_for_each_role(app, annotated, make_user):
    document = annotated["document"]
    start, end = span(SAMPLE_TEXT, "Игорь Конашенков")
    ev_start, ev_end = span(SAMPLE_TEXT, HELICOPTER)
    annotate_sample("alice", document, "the ministry’s spokesman", actor="Amaq",
                    actor_mention={"start": start, "end": end},
                    evidence=[{"type": "official_statement", "relation": "supports",
                               "description": "said so", "start": ev_start, "end": ev_end},
                              {"type": "other", "relation": "contradicts",
                               "source_url": "https://example.org/a"}])
    judy = users.by_username("judy")
    claims.create_claim(judy, document, {**dict(zip(("start", "end"), span(
        SAMPLE_TEXT, NO_AIRCRAFT), strict=True)), "text": NO_AIRCRAFT, "stance": "denies"},
        sources=annotated["agreed"])
    for blind in (False, True):
        project = document.project
        projects.update_settings(project, project.annotators_per_document, blind)
        check_every_role(document)


def check_every_role(document) -> None:
    for name in ("alice", "bob", "judy", "maria"):
        user = users.by_username(name)
        expected = [claims.claim_to_dict(c) for c in claims.list_claims(user, document)]
        assert claims.listed_claims(user, document) == expected, name
        assert expected, name
