"""GlobalPic webhooks: a team's endpoints and the job events delivered to them."""
