"""Every route the gateway serves, in one table: the API, the web page and the ops endpoints."""

from __future__ import annotations

from aiohttp import web

from libs.runtime.ops import Readiness, add_ops_routes
from services.gateway import (
    alert_events,
    analyses,
    analysis_queries,
    analysis_results,
    boards,
    crawl_runs,
    dev_login,
    discovery,
    job_events,
    media,
    picker,
    profiles,
    watchlists,
    web_page,
    webhooks,
)


def setup_routes(app: web.Application, service: str, ready: Readiness) -> None:
    app.add_routes(
        [
            web.post("/api/profile/{username}/request", profiles.request_profile),
            web.get("/api/profile/{username}/status", profiles.profile_status),
            web.get("/api/profile/{username}", profiles.get_profile),
            web.get("/api/profile/{username}/reels", profiles.get_reels),
            web.get("/api/profile/{username}/similar", profiles.get_similar),
            web.get("/api/profile/{username}/similar-fast", picker.similar_fast),
            web.post("/api/profile/{primary}/add-competitor/{target}", picker.add_competitor),
            web.get("/api/reels", discovery.reels),
            web.get("/api/posts", discovery.posts),
            web.get("/api/filter-options", discovery.filter_options),
            web.get("/api/media/{key}", media.media),
            web.post("/api/crawler/runs", crawl_runs.start_crawl),
            web.get("/api/crawler/runs/{run_id}", crawl_runs.crawl_status),
            web.post("/api/viral-ideas/queue", analyses.create_job),
            web.post("/api/viral-ideas/queue/{queue_id}/start", analyses.start_job),
            web.post("/api/viral-ideas/queue/{queue_id}/process", analyses.process_job),
            web.post("/api/viral-ideas/queue/{queue_id}/cancel", analyses.cancel_job),
            web.post("/api/viral-ideas/queue/{queue_id}/rerun", analyses.rerun_job),
            web.patch("/api/viral-ideas/queue/{queue_id}", analyses.update_job),
            web.get("/api/viral-ideas/queue/{queue_id}/runs", analysis_results.runs),
            web.post("/api/viral-ideas/process-pending", analyses.process_pending),
            web.get("/api/viral-ideas/queue/{session_id}", analysis_queries.job_status),
            web.get("/api/viral-ideas/queue-status", analysis_queries.queue_status),
            web.get("/api/viral-ideas/check-existing/{username}", analysis_queries.check_existing),
            web.get("/api/viral-analysis/{queue_id}/results", analysis_results.results),
            web.get("/api/viral-analysis/{queue_id}/content", analysis_results.content),
            web.get("/api/viral-analysis/{queue_id}/export", analysis_results.export),
            web.get("/api/viral-ideas/queue/{session_id}/events", job_events.job_events),
            web.post("/api/boards", boards.create_board),
            web.get("/api/boards", boards.list_boards),
            web.get("/api/boards/{board_id}", boards.get_board),
            web.patch("/api/boards/{board_id}", boards.rename_board),
            web.delete("/api/boards/{board_id}", boards.delete_board),
            web.get("/api/boards/{board_id}/export", boards.export_board),
            web.post("/api/boards/{board_id}/items", boards.add_item),
            web.patch("/api/boards/{board_id}/items/{item_id}", boards.update_item),
            web.delete("/api/boards/{board_id}/items/{item_id}", boards.remove_item),
            web.get("/api/watchlist", watchlists.watchlist),
            web.post("/api/watchlist", watchlists.watch),
            web.post("/api/watchlist/refresh", watchlists.refresh),
            web.delete("/api/watchlist/{username}", watchlists.unwatch),
            web.get("/api/alerts", watchlists.alerts),
            web.get("/api/alerts/events", alert_events.alert_events),
            web.get("/api/webhooks", webhooks.list_webhooks),
            web.post("/api/webhooks", webhooks.register),
            web.delete("/api/webhooks/{webhook_id}", webhooks.remove),
            web.get("/api/webhooks/{webhook_id}/deliveries", webhooks.deliveries),
            web.post("/api/webhooks/{webhook_id}/deliveries/{delivery_id}/resend", webhooks.resend),
            web.post("/api/auth/dev-token", dev_login.dev_token),
            web.static("/static", web_page.WEB_DIR),
            web.get("/", web_page.index),
            web.get("/discover", web_page.discover),
            web.get("/watchlist", web_page.watchlist),
        ]
    )
    add_ops_routes(app, service, ready)  # /healthz, /readyz, /metrics, as every service serves them
