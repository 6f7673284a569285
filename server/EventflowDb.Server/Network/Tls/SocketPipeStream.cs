using System.Buffers;
using System.IO.Pipelines;

namespace EventflowDb.Server.Network.Tls;

/// <summary>
/// The socket connection's pipes as the byte stream <see cref="System.Net.Security.SslStream"/> reads and writes: the
/// ciphertext stays in the socket's own pipes, so the send pipe's length still measures unsent output and the socket
/// connection still aborts and shuts down. Writes are copied into the send pipe and sent at the next flush (one
/// flush per batch of TLS records, not one per record); during the handshake every write is flushed, since the
/// handshake waits for the peer's answer and must not depend on whether SslStream flushes.
/// Only the asynchronous members work: a synchronous read would block a socket thread.
/// </summary>
internal sealed class SocketPipeStream(IDuplexPipe socket) : Stream
{
    /// <summary>True while every write must go out at once (the handshake).</summary>
    public bool FlushEveryWrite { get; set; } = true;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var result = await socket.Input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var data = result.Buffer;
            if (!data.IsEmpty)
            {
                if (buffer.IsEmpty)
                {
                    // A zero-byte read asks only whether data has arrived: leave it unread.
                    socket.Input.AdvanceTo(data.Start);
                    return 0;
                }

                int count = (int)Math.Min(data.Length, buffer.Length);
                data.Slice(0, count).CopyTo(buffer.Span);
                socket.Input.AdvanceTo(data.GetPosition(count));
                return count;
            }

            socket.Input.AdvanceTo(data.End);
            if (result.IsCompleted)
            {
                return 0;
            }

            if (result.IsCanceled)
            {
                throw new OperationCanceledException("the socket read was cancelled");
            }
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        socket.Output.Write(buffer.Span);
        return FlushEveryWrite ? FlushAsyncCore(cancellationToken) : ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => FlushAsyncCore(cancellationToken).AsTask();

    private ValueTask FlushAsyncCore(CancellationToken cancellationToken)
    {
        var flush = socket.Output.FlushAsync(cancellationToken);
        if (flush.IsCompletedSuccessfully)
        {
            Check(flush.Result);
            return ValueTask.CompletedTask;
        }

        return Await(flush);

        static async ValueTask Await(ValueTask<FlushResult> flush) => Check(await flush.ConfigureAwait(false));
    }

    private static void Check(FlushResult result)
    {
        if (result.IsCanceled)
        {
            throw new OperationCanceledException("the socket flush was cancelled");
        }

        if (result.IsCompleted)
        {
            throw new IOException("the connection is closed");
        }
    }

    public override void Flush() => throw new NotSupportedException("synchronous flush");

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("synchronous read");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("synchronous write");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
