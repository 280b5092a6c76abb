"""What the test modules share: calls and waits (`helpers`), the served mock (`live`), vendor examples
(`examples`), webhook receivers and reads (`receiver`, `webhooks`), twin and drifted mocks (`twin`, `drift`).
Test modules import from here, never from one another or from conftest.py."""
