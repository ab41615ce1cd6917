fn main() {
    use std::time::{Duration, Instant};
    for _ in 0..3 {
        let t = Instant::now();
        let n = 50;
        for _ in 0..n {
            let c = conform::exec::http::HttpClient::new(Duration::from_secs(30), 1 << 20).unwrap();
            drop(c);
        }
        println!("HttpClient::new: {:?} each", t.elapsed() / n);
        let t = Instant::now();
        for _ in 0..n {
            let c = reqwest::Client::builder().build().unwrap();
            drop(c);
        }
        println!("reqwest::Client::new: {:?} each", t.elapsed() / n);
    }
}
