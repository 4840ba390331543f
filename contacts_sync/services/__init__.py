"""The write API for views, tasks and commands: `<entity>_<action>(*, ...)`, keyword-only."""
