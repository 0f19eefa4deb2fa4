"""GlobalPic billing: plans, quotas, metering of completed images, and Stripe."""
