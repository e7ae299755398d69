"""The BPMN 2.0 workflow engine, its enactment services, inbox and console."""
