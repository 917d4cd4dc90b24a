"""The master notebooks here hold solutions and hidden tests for otter-grader; they are not book
pages and need the grader to run, so pytest's notebook runner leaves them alone
(tests/test_grading.py checks them through `autograde.py assign`)."""

collect_ignore_glob = ["*.ipynb"]
