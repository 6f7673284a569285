using System.Net.Sockets;
using System.Text;
using EventflowDb.Bench.Resp;

namespace EventflowDb.Bench.Soak;

/// <summary>
/// Clients that connect and vanish, at a paced rate, by turns: close at once; send PING and close unread; send half a
/// request and close; send half a request and reset; ask for a big GETALL page and reset; SUBSCRIBE $all and close;
/// send an ADD and close before its reply; long-poll with BLOCK and close.
/// </summary>
internal sealed class ChurnLoad(double perSecond, int port, SoakCounters counters)
    : LoadWorker("connect-and-vanish", port, counters)
{
    private static readonly byte[] HalfRequest = Encoding.ASCII.GetBytes("*4\r\n$3\r\nGET\r\n$12\r\nsoak-w0-");
    private static readonly byte[][] FullRequests =
    [
        RespCommand.Encode("PING"),
        RespCommand.Encode("GETALL", "00000000000000000000000000", "10000"),
        RespCommand.Encode("SUBSCRIBE", "$all"),
        RespCommand.Encode("ADD", "soak-churn", "any", "Vanished", "{\"a\":1}"),
        RespCommand.Encode("GET", "soak-churn", "100000000", "10", "BLOCK", "5000"),
    ];

    protected override void RunSession(CancellationToken token)
    {
        var pacer = new Pacer(perSecond);
        for (long i = 0; pacer.Wait(1, token); i++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Connect("127.0.0.1", Port);
            bool reset = false;
            switch (i % 8)
            {
                case 0:
                    break;
                case 1:
                    socket.Send(FullRequests[0]);
                    break;
                case 2:
                    socket.Send(HalfRequest);
                    break;
                case 3:
                    socket.Send(HalfRequest);
                    reset = true;
                    break;
                case 4:
                    socket.Send(FullRequests[1]);
                    Thread.Sleep(5);
                    reset = true;
                    break;
                case 5:
                    socket.Send(FullRequests[2]);
                    break;
                case 6:
                    socket.Send(FullRequests[3]);
                    break;
                default:
                    socket.Send(FullRequests[4]);
                    Thread.Sleep(5);
                    break;
            }

            if (reset)
            {
                socket.LingerState = new LingerOption(true, 0); // close sends RST instead of FIN
            }

            socket.Close();
            Counters.Add(Counter.Churned);
        }
    }
}
