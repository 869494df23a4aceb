"""Human review: a team's own verdicts beside callqa's, calibration, and the review queue.

::

    reviews.csv / .jsonl -> files.read_reviews_file -> ReviewRow ...
        -> callqa.batch.reviews.import_reviews (the store, one transaction) -> StoredReview ...
    stored calls + StoredReview ... -> reviews.with_final   (scores over final verdicts)
                                    -> calibrate.calibrate  (kappa, accuracy, confusion, CIs)
                                    -> fit.fit_thresholds   (thresholds under cross-validation)
                                    -> queue.review_queue   (the calls most worth a listen)
                                    -> render               (table, Markdown, JSON)

The agreement statistics are in :mod:`~callqa.review.agreement`; the final score of a call is
:func:`callqa.scoring.final.final_score` (the machine score's own weighting). This package
reads and writes no store itself: :mod:`callqa.batch.reviews` does, one layer up. Every figure
is defined in docs/review.md.
"""
