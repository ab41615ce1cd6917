use clap::Parser;

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
