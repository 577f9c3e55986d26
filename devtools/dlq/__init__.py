"""The dead-letter queue tooling behind `triggers dlq`.

- `letters`: the four DLQs of the template, their messages ("letters"), the SQS operations on
  them (`Mailbox`) and the redrive loop that deletes a letter only once its redrive succeeded;
- `redrive`: what redriving a letter means for each queue (`Redriver`);
- `render`: the tables and listings the command prints.
"""
