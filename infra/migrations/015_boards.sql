-- Boards (issue 15): a user's saved reels, posts, hooks and scripts, each with a note and tags. The
-- gateway's own state, like its sessions: private working data that no other service reacts to, read
-- back by its owner at once (no projector in between), and limited per user (GatewaySettings).
CREATE TABLE gateway.boards (
    id          uuid PRIMARY KEY,
    owner_id    text NOT NULL,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT boards_owner_name_unique UNIQUE (owner_id, name)
);
CREATE INDEX boards_owner_idx ON gateway.boards (owner_id, created_at);

CREATE TABLE gateway.board_items (
    id            uuid PRIMARY KEY,
    board_id      uuid NOT NULL REFERENCES gateway.boards (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('content', 'hook', 'script')),
    content_id    text,
    queue_id      uuid,
    analysis_run  integer,
    item_index    integer,
    note          text NOT NULL DEFAULT '',
    tags          text[] NOT NULL DEFAULT '{}',
    added_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'content') = (content_id IS NOT NULL)),
    CHECK ((kind = 'content') = (queue_id IS NULL AND analysis_run IS NULL AND item_index IS NULL))
);
-- One entry per thing per board; and the board's items in the order they were added.
CREATE UNIQUE INDEX board_items_thing_idx ON gateway.board_items
    (board_id, kind, coalesce(content_id, ''), coalesce(queue_id::text, ''), coalesce(analysis_run, 0),
     coalesce(item_index, -1));
CREATE INDEX board_items_board_idx ON gateway.board_items (board_id, added_at, id);
