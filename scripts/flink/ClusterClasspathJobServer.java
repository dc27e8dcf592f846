// Beam's Flink job server for a cluster that has Beam's Flink runner on its own class path.
//
// Beam's job server uploads every jar on its class path (about 150 MB) to the Flink cluster with
// each job, and every TaskManager then loads them into a fresh class loader: on a small machine
// that is ~40 s per Beam job before any work starts. scripts/flink_cluster.sh puts the same
// jars on the JobManager's and TaskManagers' class path, so this driver stages nothing; in every
// other respect it is Beam's FlinkJobServerDriver (same flags, same jobs).
package org.merpipeline.flink;

import java.util.Collections;
import java.util.List;
import org.apache.beam.model.pipeline.v1.RunnerApi;
import org.apache.beam.runners.flink.FlinkJobInvoker;
import org.apache.beam.runners.flink.FlinkJobServerDriver;
import org.apache.beam.runners.jobsubmission.JobInvocation;
import org.apache.beam.sdk.extensions.gcp.options.GcsOptions;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.util.construction.resources.PipelineResourcesDetector;
import org.apache.beam.vendor.grpc.v1p60p1.com.google.protobuf.Struct;
import org.apache.beam.vendor.grpc.v1p60p1.com.google.protobuf.Value;
import org.apache.beam.vendor.guava.v32_1_2_jre.com.google.common.util.concurrent.ListeningExecutorService;

public final class ClusterClasspathJobServer {
  private static final String DETECTOR_OPTION =
      "beam:option:pipeline_resources_detector_factory_class:v1";

  private ClusterClasspathJobServer() {}

  public static void main(String[] args) throws Exception {
    // What FlinkJobServerDriver.main sets up before it parses its flags.
    PipelineOptions options = PipelineOptionsFactory.create();
    options.as(GcsOptions.class).setGcsUploadBufferSizeBytes(1024 * 1024);
    FileSystems.setDefaultPipelineOptions(options);
    FlinkJobServerDriver.FlinkServerConfiguration config = FlinkJobServerDriver.parseArgs(args);
    FlinkJobServerDriver.fromConfig(config, () -> new Invoker(config)).run();
  }

  /** Stages no jar: the cluster already has them. */
  public static final class NothingToStage implements PipelineResourcesDetector.Factory {
    /** Beam builds the factory named by the option through a static create(). */
    public static NothingToStage create() {
      return new NothingToStage();
    }

    @Override
    public PipelineResourcesDetector getPipelineResourcesDetector() {
      return new Detector();
    }
  }

  static final class Detector implements PipelineResourcesDetector {
    private static final long serialVersionUID = 1L;

    @Override
    public List<String> detect(ClassLoader classLoader) {
      return Collections.emptyList();
    }
  }

  static final class Invoker extends FlinkJobInvoker {
    Invoker(FlinkJobServerDriver.FlinkServerConfiguration config) {
      super(config);
    }

    @Override
    protected JobInvocation invokeWithExecutor(
        RunnerApi.Pipeline pipeline,
        Struct options,
        String retrievalToken,
        ListeningExecutorService executorService) {
      Struct withDetector =
          options.toBuilder()
              .putFields(
                  DETECTOR_OPTION,
                  Value.newBuilder().setStringValue(NothingToStage.class.getName()).build())
              .build();
      return super.invokeWithExecutor(pipeline, withDetector, retrievalToken, executorService);
    }
  }
}
