namespace Orleans.RateLimit.Silo.Host; internal static class Program { private static void Main() { } }
