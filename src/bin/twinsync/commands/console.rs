//! `twinsync console …`: tools for the web console's `[console]` table.

use std::io::{BufRead, IsTerminal};

use zeroize::Zeroizing;

use crate::failure::{FAILED, Failure, Outcome};

/// `console hash-password`: one line of standard input, hashed (argon2id,
/// PHC form) for an operator's `password_hash`.
pub fn hash_password() -> Outcome {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password (shown as you type; end with Enter): ");
    }
    let mut line = Zeroizing::new(String::new());
    stdin.lock().read_line(&mut line).map_err(|e| {
        Failure::new(
            FAILED,
            format!("cannot read the password from standard input: {e}"),
        )
    })?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(Failure::new(
            FAILED,
            "no password on standard input (one line, such as: printf '%s\\n' 'correct horse' | \
             twinsync console hash-password)",
        ));
    }
    let hash = twinsync::server::console::hash_password(password)?;
    println!("{hash}");
    Ok(())
}
