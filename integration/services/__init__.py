"""Every write the product makes (HackSoft's services): keyword-only arguments, one transaction each.

Views, admin actions, tasks and commands call these; models, signals and templates hold no business logic.
"""
