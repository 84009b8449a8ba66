"""The Django parser on logs shaped like real `tests/runtests.py --verbosity 2 --parallel 1` output.

Django is not installed here, so the samples copy the shapes of real runs: Django 3.x on Python
< 3.11 (`test_foo (app.tests.FooTests)`), Django 5.x on Python 3.11+ (`test_foo
(app.tests.FooTests.test_foo)`), docstring tests, output interleaved with the outcome, and the
migration chatter Django prints before and around the tests.
"""

from __future__ import annotations

from swefarm.harness.parsers import lookup, parse
from swefarm.harness.results import TestRun, TestStatus

DJANGO_3 = """\
+ ./tests/runtests.py --verbosity 2 --noinput --parallel 1 auth_tests.test_validators admin_scripts.tests
Testing against Django installed in '/testbed/django'
Importing application auth_tests
Importing application admin_scripts
Skipping setup of unused database(s): other.
Operations to perform:
  Synchronize unmigrated apps: auth, auth_tests, contenttypes, messages, sessions, staticfiles
  Apply all migrations: admin, sites
Synchronizing apps without migrations:
  Creating tables...
    Creating table django_content_type
    Running deferred SQL...
Running migrations:
  Applying admin.0001_initial... OK
  Applying admin.0002_logentry_remove_auto_add... OK
  Applying sites.0001_initial... OK
  Applying sites.0002_alter_domain_unique...test_no_migrations (admin_scripts.tests.MigrateTests) ... ok
System check identified no issues (0 silenced).
test_help_text (auth_tests.test_validators.CommonPasswordValidatorTest) ... ok
test_validate (auth_tests.test_validators.CommonPasswordValidatorTest) ... ok
test_ascii_validator (auth_tests.test_validators.UsernameValidatorsTests) ... FAIL
test_unicode_validator (auth_tests.test_validators.UsernameValidatorsTests) ... ERROR
test_sqlite_only (auth_tests.test_validators.DatabaseTests) ... skipped "Database doesn't support feature(s): x"
test_known_bug (auth_tests.test_validators.DatabaseTests) ... expected failure
test_fixed_bug (auth_tests.test_validators.DatabaseTests) ... unexpected success
test_empty_password_validator_help_text_html (auth_tests.test_validators.PasswordValidationTest)
Regression test for #12345: an empty help text renders nothing. ... ok
test_version_alternative (admin_scripts.tests.CommandTypes)
--version is equivalent to version ... ok
test_admin_page (admin_scripts.tests.AdminViews) ... Internal Server Error: /admin/
Traceback (most recent call last):
  File "/testbed/django/core/handlers/exception.py", line 47, in inner
    response = get_response(request)
ValueError: boom
ok
test_settings_configured (admin_scripts.tests.ManageCheck) ... System check identified no issues (0 silenced).
ok
test_long_docstring (admin_scripts.tests.ManageCheck)
A docstring whose test printed output before its outcome. ... some output
FAIL

======================================================================
FAIL: test_ascii_validator (auth_tests.test_validators.UsernameValidatorsTests)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/testbed/tests/auth_tests/test_validators.py", line 239, in test_ascii_validator
    validator(valid)
AssertionError: ValidationError not raised

======================================================================
ERROR: test_unicode_validator (auth_tests.test_validators.UsernameValidatorsTests)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/testbed/tests/auth_tests/test_validators.py", line 250, in test_unicode_validator
    raise TypeError
TypeError

======================================================================
ERROR: setUpClass (admin_scripts.tests.BrokenSetup)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/testbed/django/test/testcases.py", line 1123, in setUpClass
    raise RuntimeError
RuntimeError

----------------------------------------------------------------------
Ran 14 tests in 0.412s

FAILED (failures=2, errors=2, skipped=1, expected failures=1, unexpected successes=1)
Destroying test database for alias 'default' ('file:memorydb_default?mode=memory&cache=shared')...
"""

DJANGO_5 = """\
Testing against Django installed in '/testbed/django' with up to 1 processes
Importing application migrations
Found 6 test(s).
Skipping setup of unused database(s): default, other.
System check identified no issues (0 silenced).
test_args_signature (migrations.test_writer.OperationWriterTests.test_args_signature) ... ok
test_serialize_nested_class_method (migrations.test_writer.WriterTests.test_serialize_nested_class_method) ... FAIL
test_custom_operation (migrations.test_writer.WriterTests.test_custom_operation)
Tests serializing a custom operation. ... ok
test_migration_path (migrations.test_writer.WriterTests.test_migration_path) ... skipped 'No sqlparse'
test_subtests (migrations.test_writer.WriterTests.test_subtests) ...
  test_subtests (migrations.test_writer.WriterTests.test_subtests) (value=1) ... FAIL
test_timing (migrations.test_writer.WriterTests.test_timing) ... ok (0.002s)

======================================================================
FAIL: test_serialize_nested_class_method (migrations.test_writer.WriterTests.test_serialize_nested_class_method)
----------------------------------------------------------------------
Traceback (most recent call last):
AssertionError: 'x' != 'y'

----------------------------------------------------------------------
Ran 6 tests in 0.030s

FAILED (failures=2, skipped=1)
"""

V = "auth_tests.test_validators"
A = "admin_scripts.tests"
W = "migrations.test_writer"


def test_django_3_statuses_with_swebench_ids():
    assert parse("django", DJANGO_3) == {
        f"test_no_migrations ({A}.MigrateTests)": TestStatus.PASSED,
        f"test_help_text ({V}.CommonPasswordValidatorTest)": TestStatus.PASSED,
        f"test_validate ({V}.CommonPasswordValidatorTest)": TestStatus.PASSED,
        f"test_ascii_validator ({V}.UsernameValidatorsTests)": TestStatus.FAILED,
        f"test_unicode_validator ({V}.UsernameValidatorsTests)": TestStatus.ERROR,
        f"test_sqlite_only ({V}.DatabaseTests)": TestStatus.SKIPPED,
        f"test_known_bug ({V}.DatabaseTests)": TestStatus.XFAIL,
        f"test_fixed_bug ({V}.DatabaseTests)": TestStatus.XPASS,
        f"test_empty_password_validator_help_text_html ({V}.PasswordValidationTest)": TestStatus.PASSED,
        "Regression test for #12345: an empty help text renders nothing.": TestStatus.PASSED,
        f"test_version_alternative ({A}.CommandTypes)": TestStatus.PASSED,
        "--version is equivalent to version": TestStatus.PASSED,
        f"test_admin_page ({A}.AdminViews)": TestStatus.PASSED,
        f"test_settings_configured ({A}.ManageCheck)": TestStatus.PASSED,
        f"test_long_docstring ({A}.ManageCheck)": TestStatus.FAILED,
        "A docstring whose test printed output before its outcome.": TestStatus.FAILED,
        f"setUpClass ({A}.BrokenSetup)": TestStatus.ERROR,
    }


def test_django_5_statuses_are_found_under_either_spelling():
    statuses = parse("django", DJANGO_5)
    assert statuses == {
        f"test_args_signature ({W}.OperationWriterTests.test_args_signature)": TestStatus.PASSED,
        f"test_serialize_nested_class_method ({W}.WriterTests.test_serialize_nested_class_method)": TestStatus.FAILED,
        f"test_custom_operation ({W}.WriterTests.test_custom_operation)": TestStatus.PASSED,
        "Tests serializing a custom operation.": TestStatus.PASSED,
        f"test_migration_path ({W}.WriterTests.test_migration_path)": TestStatus.SKIPPED,
        f"test_subtests ({W}.WriterTests.test_subtests)": TestStatus.FAILED,
        f"test_timing ({W}.WriterTests.test_timing)": TestStatus.PASSED,
    }
    run = TestRun(statuses=statuses, parser="django", exit_code=1)
    assert run.status_of(f"test_args_signature ({W}.OperationWriterTests)") == TestStatus.PASSED
    assert run.status_of(f"test_subtests ({W}.WriterTests)") == TestStatus.FAILED
    assert run.status_of(f"{W}.WriterTests.test_custom_operation") == TestStatus.PASSED
    assert run.status_of(f"test_missing ({W}.WriterTests)") is None


def test_a_failure_header_makes_a_test_fail_even_if_its_line_was_lost():
    log = "test_a (app.tests.T) ... \nFAIL: test_a (app.tests.T)\n"
    assert parse("django", log) == {"test_a (app.tests.T)": TestStatus.FAILED}


def test_a_line_printed_by_a_test_cannot_override_a_failure():
    planted = "test_a (app.tests.T.test_a) ... FAIL\ntest_a (app.tests.T) ... ok\ntest_a (app.tests.T.test_a) ... ok\n"
    statuses = parse("django", planted)
    assert lookup("django", statuses, "test_a (app.tests.T)") == TestStatus.FAILED
    assert lookup("django", statuses, "test_a (app.tests.T.test_a)") == TestStatus.FAILED


def test_an_empty_or_foreign_log_reports_nothing():
    assert parse("django", "") == {}
    assert parse("django", "Traceback (most recent call last):\nImportError: no django\n") == {}
