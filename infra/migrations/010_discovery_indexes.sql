-- The discovery feed's indexes (GET /api/reels, /api/posts; services/gateway/repository/feed.py).
--
-- A feed page is a walk of one index in the page's order: (sort key, content_id) descending (oldest:
-- the same index backwards), resumed from the cursor by keyset, `(key, content_id) < ($k, $id)`, and
-- stopped after limit + 1 rows, so page 200 costs what page 1 costs. Items without a key (no views, no
-- date, no follower count) come last, from the same index (`key IS NULL`, in content_id order).
-- Filters are checked on the rows the walk meets; a filter that keeps few rows makes the planner choose
-- that filter's index (the date range, search, keywords) and sort what it finds instead.
--
-- Reels and posts each get their own partial indexes (post_type = 'reel' / <> 'reel'): a walk never
-- steps over the other kind, and a row is in one of each pair only, so writes pay one index per key.
-- The feed's statements name post_type literally so the planner can prove the predicates.

-- sort_by=popular (the default): outlier_score.
CREATE INDEX content_feed_reels_outlier_idx ON readmodel.content (outlier_score DESC, content_id DESC)
    WHERE post_type = 'reel';
CREATE INDEX content_feed_posts_outlier_idx ON readmodel.content (outlier_score DESC, content_id DESC)
    WHERE post_type <> 'reel';

-- sort_by=views (reels only: posts have none).
CREATE INDEX content_feed_reels_views_idx ON readmodel.content (view_count DESC NULLS LAST, content_id DESC)
    WHERE post_type = 'reel';

-- sort_by=likes, comments.
CREATE INDEX content_feed_reels_likes_idx ON readmodel.content (like_count DESC, content_id DESC)
    WHERE post_type = 'reel';
CREATE INDEX content_feed_posts_likes_idx ON readmodel.content (like_count DESC, content_id DESC)
    WHERE post_type <> 'reel';
CREATE INDEX content_feed_reels_comments_idx ON readmodel.content (comment_count DESC, content_id DESC)
    WHERE post_type = 'reel';
CREATE INDEX content_feed_posts_comments_idx ON readmodel.content (comment_count DESC, content_id DESC)
    WHERE post_type <> 'reel';

-- sort_by=recent, and oldest (walked backwards); also date_range filters with another sort.
CREATE INDEX content_feed_reels_date_idx ON readmodel.content (date_posted DESC NULLS LAST, content_id DESC)
    WHERE post_type = 'reel';
CREATE INDEX content_feed_posts_date_idx ON readmodel.content (date_posted DESC NULLS LAST, content_id DESC)
    WHERE post_type <> 'reel';

-- sort_by=followers, account_engagement (the creator's, denormalised onto every row).
CREATE INDEX content_feed_reels_followers_idx
    ON readmodel.content (creator_followers DESC NULLS LAST, content_id DESC) WHERE post_type = 'reel';
CREATE INDEX content_feed_posts_followers_idx
    ON readmodel.content (creator_followers DESC NULLS LAST, content_id DESC) WHERE post_type <> 'reel';
CREATE INDEX content_feed_reels_account_engagement_idx
    ON readmodel.content (creator_engagement_rate DESC NULLS LAST, content_id DESC) WHERE post_type = 'reel';
CREATE INDEX content_feed_posts_account_engagement_idx
    ON readmodel.content (creator_engagement_rate DESC NULLS LAST, content_id DESC) WHERE post_type <> 'reel';

-- sort_by=content_engagement.
CREATE INDEX content_feed_reels_engagement_idx ON readmodel.content (engagement_rate DESC, content_id DESC)
    WHERE post_type = 'reel';
CREATE INDEX content_feed_posts_engagement_idx ON readmodel.content (engagement_rate DESC, content_id DESC)
    WHERE post_type <> 'reel';

-- random_order: the fixed shuffle order, walked from a session's start point either way.
CREATE INDEX content_feed_reels_shuffle_idx ON readmodel.content (shuffle_key, content_id)
    WHERE post_type = 'reel';
CREATE INDEX content_feed_posts_shuffle_idx ON readmodel.content (shuffle_key, content_id)
    WHERE post_type <> 'reel';

-- sort_by=niche_outlier: within one (category, month) baseline the niche score follows the views, so
-- the walk takes the head of each bucket from here and merges them (one short range per baseline).
CREATE INDEX content_feed_reels_niche_idx
    ON readmodel.content (category, month, view_count DESC, content_id DESC)
    WHERE post_type = 'reel' AND view_count IS NOT NULL;

-- search (plainto_tsquery('simple', ...) over caption and transcript) and keywords (&&).
CREATE INDEX content_feed_search_idx ON readmodel.content USING gin (search);
CREATE INDEX content_feed_keywords_idx ON readmodel.content USING gin (keywords);

-- The filters that can keep few reels on their own or together (a niche, a language, a style): the
-- planner combines them (BitmapAnd) and sorts what they keep, where walking a sort's index would step
-- over nearly every reel to find none.
-- Browsing one niche is the feed's main use: its two main sorts walk the niche's own range in order
-- (one category given is `= $n`, which can lead an index; a list of them is combined as a bitmap).
CREATE INDEX content_feed_reels_niche_outlier_idx
    ON readmodel.content (creator_primary_category, outlier_score DESC, content_id DESC) WHERE post_type = 'reel';
CREATE INDEX content_feed_reels_niche_views_idx
    ON readmodel.content (creator_primary_category, view_count DESC NULLS LAST, content_id DESC)
    WHERE post_type = 'reel';
CREATE INDEX content_feed_reels_language_idx ON readmodel.content (language) WHERE post_type = 'reel';
CREATE INDEX content_feed_reels_style_idx ON readmodel.content (content_style) WHERE post_type = 'reel';

-- These go together (a creator's niche, language and style): estimated as independent, a combination
-- that never occurs looks like 1 % of the reels, and the planner walks a sort's index through all of
-- them to fill a page. The combinations' own frequencies keep that estimate near the truth.
CREATE STATISTICS readmodel.content_feed_filters_stats (mcv, dependencies)
    ON creator_primary_category, language, content_style FROM readmodel.content;
