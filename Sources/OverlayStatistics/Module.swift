public enum OverlayStatisticsModule {}
