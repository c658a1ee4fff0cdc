"""Claim-verification annotation tool."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__version__ = "0.1.0"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask application: settings, extensions, blueprints, CLI."""
    # Imported here, not at the top: `annotator.agreement` must import without Flask.
    from flask import Flask

    from . import config, jsonprovider

    app = Flask(__name__, instance_path=config.instance_path(), instance_relative_config=True)
    jsonprovider.init_app(app)  # before config.load, which sets its options
    config.load(app, test_config)

    from . import auth, cli, converters, db, filters, health, requestlog, security
    from .account import routes as account_routes
    from .adjudicate import routes as adjudicate_routes
    from .admin import routes as admin_routes
    from .annotate import routes as annotate_routes
    from .api import routes as api_routes
    from .projects import routes as project_routes
    from .propositions import routes as proposition_routes
    from .reports import routes as report_routes
    from .suggestions import routes as suggestion_routes

    converters.init_app(app)  # before the blueprints: their rules bind the converter
    db.init_app(app)
    requestlog.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    filters.init_app(app)
    app.register_blueprint(project_routes.bp)
    app.register_blueprint(account_routes.bp)
    app.register_blueprint(admin_routes.bp)
    app.register_blueprint(annotate_routes.bp)
    app.register_blueprint(adjudicate_routes.bp)
    app.register_blueprint(api_routes.bp)
    app.register_blueprint(report_routes.bp)
    app.register_blueprint(suggestion_routes.bp)
    app.register_blueprint(proposition_routes.bp)
    app.register_blueprint(health.bp)
    cli.init_app(app)
    return app
