"""The chaser: the tick that records reminders and escalations, the mail it writes, the outbox
sender and the scheduler that runs them."""
