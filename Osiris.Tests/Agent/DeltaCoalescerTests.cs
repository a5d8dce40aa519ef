using Microsoft.Extensions.Time.Testing;
using Osiris.Agent.Loop;

namespace Osiris.Tests.Agent;

/// <summary>The coalescing of model text on a fake clock: one publication per window, in order, nothing lost or repeated.</summary>
[Trait("Category", "Unit")]
public sealed class DeltaCoalescerTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(30);

    /// <summary>Lets the coalescer's background continuation run up to its wait on the fake clock (real time, never asserted).</summary>
    private static Task Settle() => Task.Delay(100);

    private static (DeltaCoalescer Coalescer, FakeTimeProvider Clock, List<string> Published) Start()
    {
        var clock = new FakeTimeProvider();
        var published = new List<string>();
        var coalescer = new DeltaCoalescer(Window, d =>
        {
            lock (published)
            {
                published.Add(d);
            }
            return Task.CompletedTask;
        }, CancellationToken.None, clock);
        return (coalescer, clock, published);
    }

    [Fact]
    public async Task TheFirstPieceGoesAtOnceAndPiecesWithinAWindowGoTogetherWhenItEnds()
    {
        var (coalescer, clock, published) = Start();

        coalescer.Append("Hel");
        await coalescer.FlushAsync();
        Assert.Equal(["Hel"], published);

        coalescer.Append("lo");
        coalescer.Append(", ");
        coalescer.Append("world");
        await Settle();
        Assert.Equal(["Hel"], published); // the window since the last publication has not passed on the clock

        clock.Advance(Window - TimeSpan.FromMilliseconds(1));
        await Settle();
        Assert.Equal(["Hel"], published);

        clock.Advance(TimeSpan.FromMilliseconds(1));
        await coalescer.FlushAsync();
        Assert.Equal(["Hel", "lo, world"], published);
        Assert.Equal("Hello, world", coalescer.Text);
    }

    [Fact]
    public async Task AbandoningDropsWhatIsPendingButKeepsWhatWasPublished()
    {
        var (coalescer, clock, published) = Start();

        coalescer.Append("Shown");
        await coalescer.FlushAsync();
        coalescer.Append(" then cut");
        await Settle();

        var abandon = coalescer.AbandonAsync();
        clock.Advance(Window);
        await abandon;
        await Settle();
        Assert.Equal(["Shown"], published);
    }

    [Fact]
    public async Task EmptyPiecesPublishNothing()
    {
        var (coalescer, _, published) = Start();
        coalescer.Append("");
        await coalescer.FlushAsync();
        Assert.Empty(published);
        Assert.Equal("", coalescer.Text);
    }
}
