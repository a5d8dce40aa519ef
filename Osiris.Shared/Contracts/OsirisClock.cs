namespace Osiris.Shared.Contracts;

public static class OsirisClock
{
    /// <summary>
    /// Now, in UTC, to the microsecond: PostgreSQL keeps microseconds, so a value read back equals the one written
    /// and a replayed event is identical to the live one.
    /// </summary>
    public static DateTimeOffset UtcNow(this TimeProvider time)
    {
        var ticks = time.GetUtcNow().UtcTicks;
        return new DateTimeOffset(ticks - ticks % 10, TimeSpan.Zero);
    }
}
