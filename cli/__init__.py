"""The operator CLI, console script ``campaign-analytics`` (SPEC section 9).

It may import the domain package; it never imports ``webapi``, ``worker`` or ``tasks``:
it starts them as processes.
"""
