use clap::Parser;

// A step allocates and frees many small values (parsed bodies, check
// results); glibc's malloc was about a tenth of a step's CPU, with heap
// growth by mprotect on top.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = conform::cli::Cli::parse();
    let code = match conform::cli::execute(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}
