using System.Buffers;
using System.Globalization;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Osiris.Shared.Contracts;

namespace Osiris.Api.Streaming;

/// <summary>
/// Formats an event's SSE frame (<c>id:</c>, <c>event:</c>, <c>data:</c>) once with <see cref="SseFormatter"/>;
/// every client of the replica then writes the same bytes. The frame is identical for all clients, so formatting it
/// per client would only burn CPU that 1,000 streams on two cores cannot spare.
/// </summary>
public static class SseFrames
{
    public static byte[] Format(OsirisEvent e)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(e, OsirisJson.Options);
        var item = new SseItem<byte[]>(json, e.Type) { EventId = e.Id.ToString(CultureInfo.InvariantCulture) };
        var buffer = new ArrayBufferWriter<byte>(json.Length + 64);
        using var stream = new BufferWriterStream(buffer);
        // SseFormatter completes synchronously on a memory stream.
        SseFormatter.WriteAsync(One(item), stream, static (i, writer) => writer.Write(i.Data), CancellationToken.None)
            .GetAwaiter().GetResult();
        return buffer.WrittenSpan.ToArray();
    }

    private static async IAsyncEnumerable<SseItem<byte[]>> One(SseItem<byte[]> item)
    {
        await Task.CompletedTask;
        yield return item;
    }

    private sealed class BufferWriterStream(ArrayBufferWriter<byte> buffer) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => buffer.WrittenCount;
        public override long Position { get => buffer.WrittenCount; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] b, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] b, int offset, int count) => buffer.Write(b.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> b) => buffer.Write(b);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> b, CancellationToken ct = default)
        {
            buffer.Write(b.Span);
            return ValueTask.CompletedTask;
        }
        public override Task WriteAsync(byte[] b, int offset, int count, CancellationToken ct)
        {
            buffer.Write(b.AsSpan(offset, count));
            return Task.CompletedTask;
        }
    }
}
