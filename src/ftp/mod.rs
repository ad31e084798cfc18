//! FTP control-channel parsing: bytes → lines → commands and replies (no I/O, no printing).
