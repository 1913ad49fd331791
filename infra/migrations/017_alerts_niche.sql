-- min_niche_score (issue 15): a watch may also ask for a multiple of the niche's median views (the
-- category's reels posted that month, readmodel.niche_baselines). An alert is once per user, reel and
-- pair of thresholds; a watch without one records 0 for it, as before this migration.
ALTER TABLE alerts.watches ADD COLUMN min_niche_score double precision;

ALTER TABLE alerts.detections ADD COLUMN niche_threshold double precision NOT NULL DEFAULT 0;
ALTER TABLE alerts.detections DROP CONSTRAINT detections_pkey,
    ADD PRIMARY KEY (user_id, content_id, threshold, niche_threshold);

ALTER TABLE readmodel.alerts
    ADD COLUMN min_niche_score double precision,
    ADD COLUMN niche_outlier_score double precision,
    ADD COLUMN category text;
