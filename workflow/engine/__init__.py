"""The BPMN interpreter and its SQL. The public API is ``workflow.services``."""
