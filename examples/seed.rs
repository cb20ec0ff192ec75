fn main() -> tessera::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(20_000);
    let c: usize = std::env::args()
        .nth(2)
        .map(|s| s.parse().unwrap())
        .unwrap_or(2_000);
    let x = tessera::random::uniform(&[n, n], &[c, c], 42)?;
    let y = (&x + &x.t()).sum_axis(0).mean();
    println!("{y}");
    let t = std::time::Instant::now();
    let v: f64 = y.compute_scalar()?;
    println!("{v} in {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let v: f64 = (&x * 2.0 + 1.0).sum().compute_scalar()?;
    println!("(x*2+1).sum() {v} in {:?}", t.elapsed());
    Ok(())
}
